/**
 * The Raft driver keeps the Ready loop going while the state machine applies: a follower busy with a
 * long apply still persists and acknowledges the leader's next entries, and entries are applied once
 * each, in log order. No timers: the tick interval is far longer than the test, and the state machine's
 * applies finish when the test says so.
 */
import t from 'tap'
import type { Entry, Message } from '../../src/consensus/index.js'
import { MemoryKvStore } from '../../src/ledger/index.js'
import { silentLogger } from '../../src/node/logger.js'
import { RaftDriver } from '../../src/node/raft-driver.js'
import { LevelRaftStorage } from '../../src/node/raft-storage.js'

function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return { from: 2, to: 1, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...fields }
}

function entry(index: number): Entry {
  return { term: 1, index, type: 'normal', data: Uint8Array.of(index) }
}

t.test('a follower acknowledges new entries while an earlier one is still being applied', async (t) => {
  const storage = await LevelRaftStorage.open(new MemoryKvStore(), { voters: [1, 2], learners: [] })
  t.teardown(() => storage.close())
  let deliver: (m: Message) => void = () => {}
  const acks: ((m: Message) => void)[] = []
  const started: number[] = []
  const finished: number[] = []
  const releases = new Map<number, () => void>()
  const driver = new RaftDriver({
    id: 1,
    storage,
    transport: {
      send: (m) => {
        if (m.type === 'appResp' && !m.reject) for (const ack of acks.splice(0)) ack(m)
        return true
      },
      onMessage: (handler) => (deliver = handler)
    },
    stateMachine: {
      apply: (e) =>
        new Promise<void>((resolve) => {
          started.push(e.index)
          releases.set(e.index, () => {
            finished.push(e.index)
            resolve()
          })
        }),
      restore: async () => {
        t.fail('no snapshot in this test')
      }
    },
    tickMs: 3_600_000,
    electionTimeoutTicks: 1000,
    logger: silentLogger()
  })
  const nextAck = (): Promise<Message> => new Promise((resolve) => acks.push(resolve))
  driver.start()
  t.teardown(() => driver.stop())

  let ack = nextAck()
  deliver(message({ type: 'app', entries: [entry(1)], commit: 1 }))
  t.equal((await ack).index, 1, 'entry 1 acknowledged')
  await new Promise<void>((resolve) => setImmediate(resolve))
  t.same(started, [1], 'entry 1, committed, is being applied')

  // Entry 1's apply has not finished: entry 2 must be persisted and acknowledged all the same.
  ack = nextAck()
  deliver(message({ type: 'app', index: 1, logTerm: 1, entries: [entry(2)], commit: 2 }))
  t.equal((await ack).index, 2, 'entry 2 acknowledged while entry 1 is still being applied')
  t.same(finished, [], 'nothing applied yet')
  t.equal(driver.applied, 0)
  t.same(started, [1], 'entry 2 waits for entry 1')

  const appliedTo = (index: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (at: number): void => {
        if (at < index) return
        driver.off('applied', check)
        resolve()
      }
      driver.on('applied', check)
    })
  let applied = appliedTo(1)
  releases.get(1)!()
  await applied
  t.equal(driver.applied, 1)
  await new Promise<void>((resolve) => setImmediate(resolve))
  t.same(started, [1, 2], 'entry 2 starts once entry 1 is applied')
  applied = appliedTo(2)
  releases.get(2)!()
  await applied
  t.same(finished, [1, 2], 'each entry applied once, in log order')
  t.equal(driver.applied, 2)
})
