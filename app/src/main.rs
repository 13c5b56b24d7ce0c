//! The `mailroom` binary.

fn main() -> std::process::ExitCode {
    mailroom_app::cli::run()
}
