/**
 * What Linux says about a process in /proc: its memory (resident now, and its peak), the CPU time it
 * used, and its children. The cluster benchmark reads its node processes this way, from outside, so
 * that the nodes run exactly as an operator runs them (no probe inside).
 */
import { readdir, readFile } from 'node:fs/promises'

/** Clock ticks per second of the times in /proc/PID/stat: USER_HZ, which Linux fixes at 100 for user space. */
const userHz = 100

export interface ProcMemory {
  /** VmRSS: resident now, MiB. */
  readonly rssMb: number
  /** VmHWM: the largest VmRSS the process has had since it started, MiB. */
  readonly hwmMb: number
}

export async function readProcMemory(pid: number): Promise<ProcMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)
    if (m === null) throw new Error(`/proc/${pid}/status has no ${field}`)
    return Number(m[1])
  }
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 }
}

/** The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses). */
async function statFields(pid: number): Promise<string[]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** User plus system CPU seconds the process has used (utime + stime). */
export async function readProcCpuSeconds(pid: number): Promise<number> {
  const fields = await statFields(pid)
  // Fields 14 and 15 of stat(5); the slice starts at field 3 (state).
  return (Number(fields[11]) + Number(fields[12])) / userHz
}

/** The live children of `parent`, each with its command line (arguments split). */
export async function childProcesses(parent: number): Promise<{ pid: number; argv: string[] }[]> {
  const out: { pid: number; argv: string[] }[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    try {
      // Field 4 of stat(5), the parent pid; a process may exit between readdir and here.
      if (Number((await statFields(pid))[1]) !== parent) continue
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a.length > 0)
      out.push({ pid, argv })
    } catch {
      continue
    }
  }
  return out
}
