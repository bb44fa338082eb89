import net from 'node:net';
import { createRequire } from 'node:module';
const { relay } = createRequire(import.meta.url)('./build/Release/relay.node');
const [lport, tport] = process.argv.slice(2).map(Number);
net.createServer({ noDelay: true, pauseOnConnect: true }, (c) => {
  const s = net.connect({ host: '127.0.0.1', port: tport, noDelay: true }, () => {
    s.pause();
    relay(c._handle.fd, s._handle.fd);
    c.destroy(); s.destroy();
  });
  s.on('error', () => c.destroy());
}).listen(lport, '127.0.0.1');
