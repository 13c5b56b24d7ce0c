//! Raw bytes, as Gmail's `format=raw` would hand them over, into the parser:
//! it must answer Ok or Err for anything, never panic or hang.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use mailroom_adapters::parser::MailParser;
use mailroom_ports::parse::MessageParser;

static QUIET_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts from its panic hook, which would count a panic
    // the parser catches (mail-parser has known panics, contained by
    // `MailParser::parse`) as a crash. With the default-less hook, a caught
    // panic is an answer like any other; a panic that escapes `parse` still
    // unwinds into libfuzzer-sys, which aborts and records the input.
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let _ = MailParser::default().parse(data);
});
