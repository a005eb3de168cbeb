//! Large buffers about to be filled for the first time, backed by 2 MiB pages where Linux allows it.
//! The first touch of fresh memory faults once per page, and on a virtual machine a fault costs more
//! than filling its 4 KiB (`benches/results/notes.md`, session 27). With transparent huge pages in
//! `madvise` mode (a common default), the kernel only backs ranges that ask with huge pages.

/// The size of the pages asked for: a buffer smaller than this has no whole one inside.
pub const HUGE_PAGE: usize = 2 << 20;

/// The whole huge pages inside `bytes` bytes from address `start`, as `(first, end)` addresses.
fn inner_huge_pages(start: usize, bytes: usize) -> Option<(usize, usize)> {
    let first = start.checked_next_multiple_of(HUGE_PAGE)?;
    let end = start.checked_add(bytes)? / HUGE_PAGE * HUGE_PAGE;
    (end > first).then_some((first, end))
}

/// Asks for huge pages under the whole 2 MiB pages inside the `bytes` bytes from `start`: a hint,
/// which changes no byte of the buffer. Where the kernel says no (transparent huge pages off, another
/// system), nothing happens.
pub fn advise(start: *const u8, bytes: usize) {
    let Some((first, end)) = inner_huge_pages(start as usize, bytes) else { return };
    #[cfg(target_os = "linux")]
    // SAFETY: the range lies inside the caller's buffer (rounded inwards, so it names no byte of any
    // other allocation); MADV_HUGEPAGE changes how its pages are backed, never what they hold, so
    // the buffer stays valid whatever the call returns (its error is ignored: a hint).
    unsafe {
        libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (first, end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_huge_pages_inside_the_buffer_are_named() {
        assert_eq!(inner_huge_pages(0, HUGE_PAGE), Some((0, HUGE_PAGE)));
        assert_eq!(inner_huge_pages(1, HUGE_PAGE), None);
        assert_eq!(inner_huge_pages(4096, 3 * HUGE_PAGE), Some((HUGE_PAGE, 3 * HUGE_PAGE)));
        assert_eq!(inner_huge_pages(HUGE_PAGE - 1, HUGE_PAGE + 1), Some((HUGE_PAGE, 2 * HUGE_PAGE)));
        assert_eq!(inner_huge_pages(HUGE_PAGE - 1, HUGE_PAGE), None);
        assert_eq!(inner_huge_pages(usize::MAX - 10, 100), None);
    }

    /// The kernel's flags of the mapping holding `address`, from /proc/self/smaps.
    #[cfg(target_os = "linux")]
    fn mapping_flags(address: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ').filter(|(r, _)| r.contains('-')) {
                let (a, b) = range.split_once('-')?;
                let (a, b) = (usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?);
                inside = (a..b).contains(&address);
            } else if inside && line.starts_with("VmFlags:") {
                return Some(line.to_string());
            }
        }
        None
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_large_buffer_asks_for_huge_pages_and_keeps_its_bytes() {
        let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
        if !thp.contains("[madvise]") && !thp.contains("[always]") {
            eprintln!("skipped: transparent huge pages are off here ({thp:?})");
            return;
        }
        let mut buffer: Vec<u16> = Vec::with_capacity(4 * HUGE_PAGE);
        advise(buffer.as_ptr().cast(), buffer.capacity() * 2);
        buffer.extend((0..4 * HUGE_PAGE).map(|i| i as u16));
        assert!(buffer.iter().enumerate().all(|(i, &v)| v == i as u16));
        let (first, _) = inner_huge_pages(buffer.as_ptr() as usize, buffer.len() * 2).unwrap();
        let flags = mapping_flags(first).expect("the buffer's mapping is in /proc/self/smaps");
        assert!(flags.split_whitespace().any(|f| f == "hg"), "no MADV_HUGEPAGE flag: {flags}");
    }
}
