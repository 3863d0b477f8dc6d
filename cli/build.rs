//! Stamps the commit the binaries are built from into `REACTOR_BUILD_COMMIT`, so `--version`
//! can say it. Order: the `REACTOR_BUILD_COMMIT` environment variable (a container build
//! without `.git` passes it as a build argument), then `git rev-parse`, then "unknown".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=REACTOR_BUILD_COMMIT");
    let commit = std::env::var("REACTOR_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        // A new commit moves HEAD or the branch it names.
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/refs/heads");
        if let Some(common) = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]) {
            println!("cargo:rerun-if-changed={common}/refs/heads");
            println!("cargo:rerun-if-changed={common}/packed-refs");
        }
    }
    println!("cargo:rustc-env=REACTOR_BUILD_COMMIT={commit}");
}

fn git_commit() -> Option<String> {
    git(&["rev-parse", "--short=12", "HEAD"])
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}
