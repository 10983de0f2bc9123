// What the OS charges another process (the relay child) for, read from Linux
// /proc: the relay's own Server-Timing only covers its evaluation workers.
import { readFileSync } from 'node:fs';

/** CPU milliseconds the OS charged to a process so far, all its threads (Linux /proc; 0 elsewhere). */
export function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch {
    return 0;
  }
}

/** Resident memory of a process in MiB (Linux /proc): now (VmRSS) and the kernel's peak so far (VmHWM); 0 when unreadable. */
export function processRssMb(pid: number | undefined): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

/**
 * The highest resident memory seen for a process, sampled every `intervalMs`
 * (worker threads share the process, so this covers them). VmHWM already
 * holds the kernel's peak; the samples keep a figure if /proc is read after
 * the process is gone.
 */
export function sampleRss(pid: () => number | undefined, intervalMs = 250): { peakMb: () => number; stop: () => void } {
  let peak = 0;
  const sample = () => {
    const m = processRssMb(pid());
    peak = Math.max(peak, m.rss, m.peak);
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    peakMb: () => {
      sample();
      return peak;
    },
    stop: () => clearInterval(timer),
  };
}
