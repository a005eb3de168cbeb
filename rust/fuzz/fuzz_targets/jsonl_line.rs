//! The JSONL line reader of `llamatok preprocess` (`llamatok::jsonl::text_fields`): any bytes, one or
//! two keys. Whatever it takes must be a JSON object (serde_json's own `Value` parse of the same bytes
//! agrees) whose fields named by the keys are the strings it gave; it never panics on the rest.
//!
//! Two differences are allowed, because Python's `json` (which decides for the lines this reader leaves)
//! has them too: a lone surrogate escape (`"\ud800"`) in a field that is not a key is accepted, where
//! `Value` refuses it (a key's text never holds one: the reader leaves such a line to Python); and a
//! number past f64's range (`1e400`) in such a field is accepted (Python reads it as infinity).
//!
//! `Value` is no judge of an object whose first key is `$serde_json::private::RawValue`: with serde_json's
//! `raw_value` feature (which the crate turns on) it takes such an object for its raw-value marker and
//! refuses anything but a string there ("expected raw value"). Python reads it as any other key, and so
//! does the reader (tests/preprocess/test_pp_native_jsonl.py holds such a line to Python's `json`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use llamatok::jsonl::text_fields;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, line)) = data.split_first() else { return };
    let keys: &[&str] = if flags & 1 == 0 { &["text"] } else { &["text", "code"] };
    let Some(texts) = text_fields(line, keys) else { return };
    let parsed: Value = match serde_json::from_slice(line) {
        Ok(value) => value,
        Err(e) => {
            let message = e.to_string();
            let allowed = ["surrogate", "hex escape", "number out of range", "expected raw value"];
            assert!(allowed.iter().any(|a| message.contains(a)), "a line it takes: {message}");
            return;
        }
    };
    let object = parsed.as_object().expect("a line it takes is an object");
    for (key, text) in keys.iter().zip(&texts) {
        assert_eq!(object.get(*key).and_then(Value::as_str), Some(text.as_ref()), "{key}");
    }
});
