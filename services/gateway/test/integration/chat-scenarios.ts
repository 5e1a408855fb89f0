import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CloseCode, type ClientLimits } from '@switchboard/protocol';
import { ChatClient } from '@switchboard/testkit';

/** The limits the node says it enforces, from its welcome: tests size their frames from these, never from a default. */
export function limitsOf(client: ChatClient): ClientLimits {
  assert.ok(client.welcome.limits, 'the welcome carries the limits');
  return client.welcome.limits;
}

/** A line of exactly `bytes` bytes of UTF-8, mostly two-byte characters: the limit counts bytes, not characters. */
export function lineOfBytes(bytes: number): string {
  const line = 'é'.repeat(Math.floor(bytes / 2)) + 'x'.repeat(bytes % 2);
  assert.equal(Buffer.byteLength(line), bytes);
  return line;
}

/**
 * The seed's chat behaviour, written once and run against any topology: three
 * gateways over Redis, or one gateway on the in-memory bus. `url(i)` is the
 * WebSocket URL of "node i" (0, 1, 2), which may all be the same node.
 */
export function chatScenarios(url: (node: number) => string): void {
  const everyone = async (clients: ChatClient[], type: 'message' | 'notification' | 'nick_update', message: string) =>
    Promise.all(clients.map((c) => c.waitForMessage(type, message)));

  const connectAll = async () => {
    const clients: ChatClient[] = [];
    for (let i = 0; i < 3; i++) clients.push(await ChatClient.connect(url(i)));
    return clients;
  };

  it('greets each client with a welcome frame first: its id, nickname AnonymousUser<N> and node', async () => {
    const clients = await connectAll();
    try {
      const nicknames = clients.map((c) => c.welcome.nickname);
      for (const nick of nicknames) assert.match(nick, /^AnonymousUser\d+$/);
      assert.equal(new Set(nicknames).size, 3, 'default nicknames are unique');
      assert.equal(new Set(clients.map((c) => c.id)).size, 3, 'ids are unique');
      for (const c of clients) assert.ok(c.node.length > 0);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('announces a new connection to clients on every node', async () => {
    const clients = await connectAll();
    try {
      const late = await ChatClient.connect(url(2));
      await everyone([...clients, late], 'notification', `${late.welcome.nickname} has connected`);
      await late.close();
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('delivers a chat line to clients on every node, the sender included', async () => {
    const clients = await connectAll();
    try {
      clients[0]!.send('hello from the first node');
      const got = await everyone(clients, 'message', 'hello from the first node');
      for (const frame of got) {
        assert.equal(frame.id, clients[0]!.id);
        assert.equal(frame.nickname, clients[0]!.welcome.nickname);
      }
      clients[2]!.send('and back from the third');
      const back = await clients[0]!.waitForMessage('message', 'and back from the third');
      assert.equal(back.id, clients[2]!.id);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('shows every client the same order of lines', async () => {
    const clients = await connectAll();
    try {
      const lines = clients.flatMap((c, i) => [1, 2, 3].map((n) => ({ c, text: `order ${i}.${n}` })));
      for (const { c, text } of lines) c.send(text);
      await Promise.all(lines.map(({ text }) => everyone(clients, 'message', text)));
      const seen = clients.map((c) => c.frames.items.filter((f) => f.type === 'message').map((f) => f.message));
      assert.deepEqual(seen[1], seen[0]);
      assert.deepEqual(seen[2], seen[0]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('tells every node about a /nick change in the seed wording, and later lines carry the new name', async () => {
    const clients = await connectAll();
    try {
      const old = clients[1]!.welcome.nickname;
      clients[1]!.send('/nick bob');
      const updates = await everyone(clients, 'nick_update', `Client ${old} changed to bob`);
      for (const u of updates) assert.equal(u.nickname, 'bob');
      clients[1]!.send('bob speaking');
      const line = await clients[0]!.waitForMessage('message', 'bob speaking');
      assert.equal(line.nickname, 'bob');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('answers /nick without a name with an error to the sender alone', async () => {
    const clients = await connectAll();
    try {
      clients[0]!.send('/nick');
      const error = await clients[0]!.waitFor((f) => f.type === 'error', 'an error frame');
      assert.match(error.message, /name is required/);
      // The next line from the same client arrives everywhere; no error reached the others before it.
      clients[0]!.send('after the bad command');
      await everyone(clients, 'message', 'after the bad command');
      assert.ok(clients.slice(1).every((c) => !c.frames.items.some((f) => f.type === 'error')));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('says back the room a /join name became (/join Dev Room is #dev-room), and refuses a name it cannot become one with the rule', async () => {
    const [client] = [await ChatClient.connect(url(0))];
    try {
      client.send('/join Dev Room');
      const joined = await client.waitFor((f) => f.type === 'joined', 'the joined answer');
      assert.equal(joined.type === 'joined' && joined.room, 'dev-room');
      assert.equal(joined.message, 'You are in #dev-room.');
      client.send('/join café');
      const refused = await client.waitFor((f) => f.type === 'error', 'the refusal');
      assert.equal(refused.type === 'error' && refused.code, 'ROOM_INVALID');
      assert.match(refused.message, /a-z, 0-9, - and _/);
    } finally {
      await client.close();
    }
  });

  it('answers /help with the commands, and /bogus with UNKNOWN_COMMAND, to the sender alone: neither is broadcast', async () => {
    const clients = await connectAll();
    try {
      const [asker, ...others] = clients as [ChatClient, ...ChatClient[]];
      asker.send('/help');
      const help = await asker.waitFor((f) => f.type === 'help', 'the help frame');
      assert.ok(help.type === 'help' && help.commands.some((c) => c.usage === '/join ROOM'), 'lists /join');
      assert.match(help.message, /\/nick NAME/);
      asker.send('/bogus now');
      const refused = await asker.waitFor((f) => f.type === 'error', 'the refusal');
      assert.equal(refused.type === 'error' && refused.code, 'UNKNOWN_COMMAND');
      assert.match(refused.message, /\/bogus/);
      // The next line arrives everywhere; nothing of the two reached the others before it.
      asker.send('after the commands');
      await everyone(clients, 'message', 'after the commands');
      for (const other of others) {
        assert.deepEqual(
          other.frames.items.filter((f) => f.type === 'help' || f.type === 'error' || (f.type === 'message' && f.message.startsWith('/'))),
          [],
        );
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('announces a closed connection to clients on every node', async () => {
    const clients = await connectAll();
    try {
      const leaver = await ChatClient.connect(url(1));
      await leaver.close();
      await everyone(clients, 'notification', `${leaver.welcome.nickname} has disconnected`);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('announces a connection that dies without a close frame (TCP reset) to every node', async () => {
    const clients = await connectAll();
    try {
      const victim = await ChatClient.connect(url(1));
      victim.reset();
      await everyone(clients, 'notification', `${victim.welcome.nickname} has disconnected`);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('closes a frame over MAX_MESSAGE_BYTES with 1009 and never broadcasts it', async () => {
    const clients = await connectAll();
    try {
      const sender = await ChatClient.connect(url(1));
      const huge = lineOfBytes(limitsOf(sender).maxMessageBytes + 1);
      sender.send(huge);
      assert.equal((await sender.closed).code, CloseCode.MESSAGE_TOO_BIG);
      // The leave notice travels the same path any broadcast of the frame would have, after it.
      await everyone(clients, 'notification', `${sender.welcome.nickname} has disconnected`);
      assert.ok(clients.every((c) => !c.frames.items.some((f) => f.message === huge)));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('accepts a frame of exactly MAX_MESSAGE_BYTES', async () => {
    const clients = await connectAll();
    try {
      const exact = lineOfBytes(limitsOf(clients[1]!).maxMessageBytes);
      clients[1]!.send(exact);
      await everyone(clients, 'message', exact);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('closes a binary frame with 1003 and never broadcasts it', async () => {
    const clients = await connectAll();
    try {
      const sender = await ChatClient.connect(url(2));
      sender.sendBinary(Buffer.from('binary hello'));
      assert.equal((await sender.closed).code, CloseCode.UNSUPPORTED_DATA);
      await everyone(clients, 'notification', `${sender.welcome.nickname} has disconnected`);
      assert.ok(clients.every((c) => !c.frames.items.some((f) => f.message.includes('binary hello'))));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('closes a text frame of invalid UTF-8 with 1007 and keeps serving the others', async () => {
    const clients = await connectAll();
    try {
      const sender = await ChatClient.connect(url(0));
      sender.sendRawText(Buffer.from([0x68, 0x69, 0xff, 0xfe]));
      assert.equal((await sender.closed).code, CloseCode.INVALID_PAYLOAD);
      await everyone(clients, 'notification', `${sender.welcome.nickname} has disconnected`);
      clients[0]!.send('still here');
      await everyone(clients, 'message', 'still here');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
}
