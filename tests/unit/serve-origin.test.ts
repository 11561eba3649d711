import { describe, expect, it } from 'vitest';
import { checkOrigin, normaliseOrigin, parseHost } from '../../src-main/serve/origin.js';

describe('serve: Host and Origin', () => {
  const local = { bindHost: '127.0.0.1', allowOrigins: [] };

  it('parses Host headers', () => {
    expect(parseHost('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: '8080' });
    expect(parseHost('[::1]:80')).toEqual({ host: '[::1]', port: '80' });
    expect(parseHost('LocalHost')).toEqual({ host: 'localhost', port: '' });
    expect(parseHost('evil.example:80/x')).toBeNull();
    expect(parseHost('a b')).toBeNull();
  });

  it('accepts the page of the server itself, by a loopback name, and clients without an Origin', () => {
    expect(checkOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }, local)).toBeNull();
    expect(checkOrigin({ host: 'localhost:9000', origin: 'http://localhost:9000' }, local)).toBeNull(); // an ssh tunnel's port
    expect(checkOrigin({ host: '[::1]:8080' }, local)).toBeNull();
  });

  it('refuses other hosts (DNS rebinding) and other origins (cross-site pages), null included', () => {
    expect(checkOrigin({ host: 'evil.example:8080', origin: 'http://evil.example:8080' }, local)).toMatch(/Host .* is not this server/);
    expect(checkOrigin({ host: '127.0.0.1:8080', origin: 'http://evil.example' }, local)).toMatch(/Origin .* is not this server's/);
    expect(checkOrigin({ host: '127.0.0.1:8080', origin: 'null' }, local)).toMatch(/Origin null/);
    expect(checkOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8081' }, local)).toMatch(/Origin/);
    expect(checkOrigin({ host: '127.0.0.1:8080', origin: 'file://' }, local)).toMatch(/Origin/);
    expect(checkOrigin({}, local)).toBe('no Host header');
    expect(checkOrigin({ host: '127.0.0.1:8080', origin: ['http://127.0.0.1:8080', 'http://evil.example'] }, local)).toBe('several Origin headers');
  });

  it('accepts an origin allowed for remote use, and the address it is bound to', () => {
    const remote = { bindHost: '0.0.0.0', allowOrigins: [normaliseOrigin('http://GPU-box:8080/')] };
    expect(checkOrigin({ host: 'gpu-box:8080', origin: 'http://gpu-box:8080' }, remote)).toBeNull();
    expect(checkOrigin({ host: '10.0.0.5:8080', origin: 'http://10.0.0.5:8080' }, remote)).toMatch(/Host/);
    const lan = { bindHost: '10.0.0.5', allowOrigins: [] };
    expect(checkOrigin({ host: '10.0.0.5:8080', origin: 'http://10.0.0.5:8080' }, lan)).toBeNull();
  });

  it('refuses --allow-origin values that are not origins', () => {
    expect(normaliseOrigin('https://sky.example.org')).toBe('https://sky.example.org');
    for (const bad of ['gpu-box:8080', 'ftp://x', 'http://x/path', 'http://u:p@x', '*']) expect(() => normaliseOrigin(bad), bad).toThrow(/--allow-origin must be/);
  });
});
