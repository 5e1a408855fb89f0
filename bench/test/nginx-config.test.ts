import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nchanConfig, parseNginxBuild } from '../src/nginx-config.js';

/** `nginx -V` of Debian 12's nginx-light, as it prints it (to stderr). */
const DEBIAN_V = `nginx version: nginx/1.22.1
built with OpenSSL 3.0.11 19 Sep 2023
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2 -ffile-prefix-map=/build/reproducible-path/nginx-1.22.1=.' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --http-log-path=/var/log/nginx/access.log --error-log-path=stderr --lock-path=/var/lock/nginx.lock --pid-path=/run/nginx.pid --modules-path=/usr/lib/nginx/modules --http-client-body-temp-path=/var/lib/nginx/body --http-fastcgi-temp-path=/var/lib/nginx/fastcgi --http-proxy-temp-path=/var/lib/nginx/proxy --http-scgi-temp-path=/var/lib/nginx/scgi --http-uwsgi-temp-path=/var/lib/nginx/uwsgi --with-compat --with-pcre-jit --with-http_ssl_module
`;

describe('nginx + nchan configuration', () => {
  it("reads a build's version, modules folder and temp paths from nginx -V", () => {
    assert.deepEqual(parseNginxBuild(DEBIAN_V), {
      version: '1.22.1',
      modulesPath: '/usr/lib/nginx/modules',
      tempPaths: ['client_body', 'fastcgi', 'proxy', 'scgi', 'uwsgi'],
    });
  });

  it('finds the modules under the prefix when the build names no modules path, and lists only the temp paths it has', () => {
    const build = parseNginxBuild('nginx version: nginx/1.25.3\nconfigure arguments: --prefix=/opt/nginx --without-http_uwsgi_module\n');
    assert.deepEqual(build, { version: '1.25.3', modulesPath: '/opt/nginx/modules', tempPaths: [] });
  });

  it('refuses what is not the output of nginx -V', () => {
    assert.throws(() => parseNginxBuild('sh: 1: nginx: not found'), /not the output of nginx -V/);
  });

  it('runs one worker with nchan_pubsub websocket on one channel, every file of its own in the run folder', () => {
    const config = nchanConfig({
      dir: '/tmp/bench-nchan-x',
      port: 40123,
      modulePath: '/usr/lib/nginx/modules/ngx_nchan_module.so',
      tempPaths: parseNginxBuild(DEBIAN_V).tempPaths,
      workerConnections: 16_384,
    });
    assert.match(config, /^load_module \/usr\/lib\/nginx\/modules\/ngx_nchan_module\.so;$/m);
    assert.match(config, /^worker_processes 1;$/m);
    assert.match(config, /^daemon off;$/m);
    assert.match(config, /^pid \/tmp\/bench-nchan-x\/nginx\.pid;$/m);
    assert.match(config, /^error_log stderr warn;$/m);
    assert.match(config, /^ {2}access_log off;$/m);
    assert.match(config, /^ {4}listen 127\.0\.0\.1:40123;$/m);
    assert.match(config, /location = \/ws \{\s+nchan_pubsub websocket;\s+nchan_channel_id bench;/);
    assert.match(config, /worker_connections 16384;/);
    for (const kind of ['client_body', 'fastcgi', 'proxy', 'scgi', 'uwsgi'])
      assert.match(config, new RegExp(`^ {2}${kind}_temp_path /tmp/bench-nchan-x/${kind}_temp;$`, 'm'));
    // Nothing of the system's nginx: every absolute path is the module or in the run folder.
    const paths = config.match(/\/[\w./-]+/g)!.filter((p) => p !== '/ws' && p !== '/readyz');
    assert.deepEqual(
      paths.filter((p) => !p.startsWith('/tmp/bench-nchan-x/') && !p.startsWith('/usr/lib/nginx/modules/')),
      [],
    );
  });
});
