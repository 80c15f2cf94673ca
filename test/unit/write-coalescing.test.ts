/**
 * Answers held back and written in bursts (src/protocols/write-coalescing.ts): answers that become
 * ready together leave together, after the work queued beside them; every answer still arrives whole,
 * in order on its connection, and nothing waits for new input.
 */
import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../../src/protocols/write-coalescing.js';

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** An app whose route answers once `gate` opens, logging when each answer is sent and when it leaves. */
function gatedApp(log: string[], gate: Promise<void>): FastifyInstance {
  const a = Fastify();
  coalesceWrites([a]);
  // Registered after the coalescing hook: it runs when an answer is released.
  a.addHook('onSend', async (req, _reply, payload) => {
    log.push(`leaves ${(req.query as { n: string }).n}`);
    return payload;
  });
  a.get('/', async (req, reply) => {
    await gate;
    const n = (req.query as { n: string }).n;
    reply.send(`answer ${n}`);
    log.push(`sent ${n}`);
    return reply;
  });
  return a;
}

describe('write coalescing', () => {
  it('answers made ready by one event leave together, after all of them were sent', async () => {
    const log: string[] = [];
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    app = gatedApp(log, gate);
    await app.ready();
    const answers = Promise.all([1, 2, 3].map((n) => app?.inject({ url: `/?n=${n}` })));
    // Let every request reach the gate, then open it from a timer (a callback of its own).
    await new Promise((resolve) => setTimeout(resolve, 20));
    setTimeout(open, 0);
    const res = await answers;
    expect(res.map((r) => r?.body)).toEqual(['answer 1', 'answer 2', 'answer 3']);
    expect(log).toEqual(['sent 1', 'sent 2', 'sent 3', 'leaves 1', 'leaves 2', 'leaves 3']);
  });

  it('an answer ready on its own is not held for anything else', async () => {
    const log: string[] = [];
    app = gatedApp(log, Promise.resolve());
    await app.ready();
    const r = await app.inject({ url: '/?n=9' });
    expect(r.body).toBe('answer 9');
    expect(log).toEqual(['sent 9', 'leaves 9']);
  });

  it('a handler that sends and resolves with nothing gets one answer, and the second send is dropped', async () => {
    const warnings: string[] = [];
    app = Fastify();
    coalesceWrites([app]);
    app.log.warn = ((_obj: unknown, msg?: string) => {
      warnings.push(String(msg));
    }) as typeof app.log.warn;
    app.get('/', async (_req, reply) => {
      reply.send('one');
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const r = await fetch(`http://127.0.0.1:${port}/`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('one');
    expect(warnings).toContain('a reply was sent twice; the second is dropped');
  });

  it('over real sockets: concurrent connections and pipelined requests get their own answers, in order', async () => {
    app = Fastify();
    coalesceWrites([app]);
    app.get('/echo/:n', async (req) => `n=${(req.params as { n: string }).n}`);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;

    // Ten requests pipelined on one connection: ten answers, in the order asked.
    const pipelined = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let text = '';
      sock.setEncoding('utf8');
      sock.on('data', (d) => {
        text += d;
        if ((text.match(/n=\d+/g) ?? []).length === 10) {
          sock.destroy();
          resolve(text);
        }
      });
      sock.on('error', reject);
      sock.write(Array.from({ length: 10 }, (_, i) => `GET /echo/${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    });
    expect(pipelined.match(/n=\d+/g)).toEqual(Array.from({ length: 10 }, (_, i) => `n=${i}`));

    // Fifty connections at once, each asking three times in turn.
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, c) => {
        const got: string[] = [];
        for (let i = 0; i < 3; i++)
          got.push(await (await fetch(`http://127.0.0.1:${port}/echo/${c * 10 + i}`)).text());
        return got;
      }),
    );
    results.forEach((got, c) => {
      expect(got).toEqual([0, 1, 2].map((i) => `n=${c * 10 + i}`));
    });
  });
});
