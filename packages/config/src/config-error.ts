/** A bad setting or command line: the program prints the message and exits with status 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A word of the command line that names no option (`--bogus`, `-x`), or a word where none is taken. */
export class UnknownOptionError extends ConfigError {
  /** The word as typed, e.g. `--bogus=1`. */
  readonly word: string;

  constructor(word: string) {
    super(`unknown option ${word} (see --help)`);
    this.word = word;
  }
}
