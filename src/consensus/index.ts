/**
 * TOM's Raft core: a pure, deterministic state machine after etcd-io/raft. It knows nothing of
 * blocks, disks, sockets or clocks; src/node drives it and src/p2p carries its messages.
 *
 * Driving it:
 *
 *   const node = new RawNode({ id, storage, random: new SeededRandom(seed) })
 *   every tick interval:       node.tick()
 *   on a message from a peer:  node.step(message)
 *   to write:                  node.propose(blockBytes)        (leader only; else ProposalDroppedError)
 *   to change membership:      node.proposeConfChange({ type: 'addLearner', nodeId })
 *   to read linearizably:      node.readIndex(context)         (answer in Ready.readStates)
 *   then, while node.hasReady():
 *     const rd = node.ready()
 *     1. PERSIST rd.snapshot, rd.entries and rd.hardState to durable storage (fsync) BEFORE
 *        SENDING ANY MESSAGE. A vote or an acknowledged entry that a crash forgets can elect
 *        two leaders in a term or lose a committed entry.
 *     2. SEND rd.messages. After a 'snap' message, call reportSnapshot(to, delivered).
 *     3. APPLY rd.committedEntries, in order, and ONLY those: rd.entries are not committed and may
 *        be replaced. Restore rd.snapshot.data first if present. For a 'confChange' entry call
 *        applyConfChange(decodeConfChange(entry.data)). Answer reads whose readState.index is
 *        now applied.
 *     4. node.advance()
 *
 * Time comes only from tick(), randomness only from the injected RandomSource, and local actions
 * (campaign, proposal, read, transfer) are messages stepped into the same path as network input.
 * An invariant violation throws RaftInvariantError: crash the process, do not continue.
 *
 * After the application snapshots its state at an applied index, it calls
 * storage.createSnapshot(index, confState, data) and storage.compact(index); a follower that
 * needs compacted entries then receives that snapshot (for the ledger: "fetch the blocks").
 */
export * from './types.js'
export * from './errors.js'
export * as limits from './constants.js'
export { SeededRandom } from './random.js'
export { MemoryStorage, type Storage, entryBytes, assertEntriesOrdered, copyConfState, limitEntryBytes, tail } from './storage.js'
export { encodeConfChange, decodeConfChange } from './conf-change.js'
export { RawNode, type Status, type PeerStatus } from './raw-node.js'
export type { RaftConfig } from './raft.js'
