/**
 * Real Redis topologies for tests, on free ports, in temporary directories:
 * - `startRedisCluster({ masters: 3 })`: a Redis Cluster of N masters (no replicas), created with
 *   `redis-cli --cluster create` and ready (`cluster_state:ok` on every node) when it resolves.
 * - `startRedisSentinel()`: one master and one Sentinel process watching it; with
 *   `{ replica: true }` also a replica, and `failover()` makes the Sentinel promote it.
 * `stop()` stops every process started and removes the directories; call it in afterAll.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { startRedis, type RedisServer } from './redis.js';

const run = promisify(execFile);

export interface RedisClusterHandle {
  /** `redis://127.0.0.1:<port>`, one per master. */
  nodes: string[];
  stop(): Promise<void>;
}

export interface RedisSentinelHandle {
  /** `127.0.0.1:<port>` of each Sentinel. */
  sentinels: string[];
  /** The master group name the Sentinels watch. */
  name: string;
  /** `redis://127.0.0.1:<port>` of the master itself (the one the Sentinel first watched). */
  masterUrl: string;
  /** `redis://127.0.0.1:<port>` of the replica, when started with `{ replica: true }`. */
  replicaUrl?: string;
  /** Ask the Sentinel to fail over (SENTINEL FAILOVER) and wait until it names the replica as master. */
  failover(): Promise<void>;
  stop(): Promise<void>;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) throw new Error('startRedisCluster: Redis Cluster needs at least 3 masters');
  const dir = mkdtempSync(join(tmpdir(), 'idb-redis-cluster-'));
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.destroy()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      servers.push(
        await startRedis({
          port,
          extraArgs: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout', '2000',
          ],
        }),
      );
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const server of servers) {
      await until(`cluster node ${server.port}`, async () => {
        const info = await cli(server.port, 'CLUSTER', 'INFO');
        return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`) && info.includes('cluster_slots_ok:16384');
      });
    }
    return { nodes: servers.map((s) => s.url), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startRedisSentinel(options: { name?: string; replica?: boolean } = {}): Promise<RedisSentinelHandle> {
  const name = options.name ?? 'idbmaster';
  const master = await startRedis();
  let replica: RedisServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'idb-redis-sentinel-'));
  let sentinel: ChildProcess | undefined;
  const stop = async () => {
    const proc = sentinel;
    sentinel = undefined;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await replica?.destroy();
    await master.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (options.replica) {
      replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
      const r = replica;
      await until('replica in sync', async () => /master_link_status:up/.test(await cli(r.port, 'INFO', 'replication')));
    }
    const port = await freePort();
    const conf = join(dir, 'sentinel.conf'); // Sentinel rewrites its config file: it must be writable.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        'logfile ""',
        'loglevel warning',
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${name} 2000`,
        '',
      ].join('\n'),
    );
    const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
    sentinel = proc;
    let output = '';
    proc.stdout?.on('data', (d) => (output += d));
    proc.stderr?.on('data', (d) => (output += d));
    await until(`sentinel on port ${port}`, async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server --sentinel exited (${proc.exitCode}): ${output}`);
      const answer = await cli(port, 'SENTINEL', 'get-master-addr-by-name', name);
      return answer.includes(String(master.port));
    });
    if (replica) {
      const r = replica;
      // Known, connected, its link to the master up: only then will the Sentinel promote it.
      await until('sentinel sees the replica in good health', async () => {
        const info = (await cli(port, 'SENTINEL', 'replicas', name)).split('\n').map((l) => l.trim());
        const field = (key: string) => info[info.indexOf(key) + 1];
        return info.includes(String(r.port)) && field('flags') === 'slave' && field('master-link-status') === 'ok';
      }, 30_000);
    }
    const failover = async () => {
      if (!replica) throw new Error('startRedisSentinel: failover() needs { replica: true }');
      const r = replica;
      // NOGOODSLAVE is transient (the Sentinel's view of the replica is refreshed every few seconds): ask again.
      let answer = '';
      await until('SENTINEL FAILOVER accepted', async () => {
        answer = await cli(port, 'SENTINEL', 'FAILOVER', name);
        if (!answer.includes('OK') && !answer.includes('NOGOODSLAVE')) throw new Error(`SENTINEL FAILOVER answered ${answer.trim()}`);
        return answer.includes('OK');
      }, 30_000).catch((e: Error) => {
        throw new Error(`${e.message} (last answer: ${answer.trim()})`);
      });
      await until('the replica promoted', async () => (await cli(port, 'SENTINEL', 'get-master-addr-by-name', name)).includes(String(r.port)), 30_000);
      await until('the new master writable', async () => /role:master/.test(await cli(r.port, 'INFO', 'replication')), 30_000);
      await until('the old master demoted', async () => /role:slave/.test(await cli(master.port, 'INFO', 'replication')), 30_000);
    };
    return { sentinels: [`127.0.0.1:${port}`], name, masterUrl: master.url, ...(replica ? { replicaUrl: replica.url } : {}), failover, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
