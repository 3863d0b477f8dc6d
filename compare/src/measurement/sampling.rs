//! One measured run with the server's CPU time read around it (and how busy the measured cores
//! were meanwhile), and one extra run counted by perf.

use std::path::Path;

use super::perf;
use super::results::{self, secs, GenReport, Sample};
use crate::processes::{self, procfs, Server};

/// One measured run with the server's CPU read around it.
pub(crate) fn measure_once(
    server: &Server,
    measured_cores: &[usize],
    max_outside_load: f64,
    run: impl FnOnce() -> anyhow::Result<(GenReport, processes::Finished)>,
) -> anyhow::Result<Sample> {
    let busy_before = procfs::cores_busy(measured_cores).unwrap_or_default();
    let steal_before = procfs::cores_steal(measured_cores).unwrap_or_default();
    let before = server.cpu()?;
    let (gen, finished) = run()?;
    let after = server.cpu()?;
    let busy = procfs::cores_busy(measured_cores)
        .unwrap_or_default()
        .saturating_sub(busy_before);
    let steal = procfs::cores_steal(measured_cores)
        .unwrap_or_default()
        .saturating_sub(steal_before);
    let cpu = after.since(&before);
    let other = busy.saturating_sub(cpu.total() + finished.cpu);
    let capacity = finished.wall.as_secs_f64() * measured_cores.len().max(1) as f64;
    Ok(Sample {
        gen,
        server_cpu_s: secs(cpu.total()),
        server_user_s: secs(cpu.user),
        server_sys_s: secs(cpu.system),
        gen_cpu_s: secs(finished.cpu),
        wall_s: secs(finished.wall),
        other_cpu_s: secs(other),
        steal_s: secs(steal),
        noisy: secs(other) > max_outside_load * capacity,
        repeat: 0,
    })
}

/// One extra run with `perf stat` counting the server's system calls and context switches.
pub(crate) fn count_kernel(
    server: &Server,
    dir: &Path,
    run: impl FnOnce() -> anyhow::Result<(GenReport, processes::Finished)>,
) -> anyhow::Result<(results::KernelCounts, GenReport)> {
    let mut counting = perf::Counting::attach(&procfs::tree(server.pid()), dir)?;
    counting.enable()?;
    let (gen, _) = run()?;
    Ok((counting.finish()?, gen))
}
