//! Reading complete lines from a byte offset: a trailing line without a newline is
//! left for later, an over-long line is skipped without being held in memory.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use clawscope_core::SkipReason;

/// Default longest line accepted (bytes).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

const CHUNK: usize = 1024 * 1024;

/// Call `f(offset, line)` for each complete line from `start`; returns the offset just
/// past the last complete line (where the next read must begin). Lines longer than
/// `max_line` are reported as `Err(LineTooLong)` and not buffered.
pub fn for_each_line(
    file: &mut File,
    start: u64,
    max_line: usize,
    mut f: impl FnMut(u64, Result<&[u8], SkipReason>),
) -> io::Result<u64> {
    file.seek(SeekFrom::Start(start))?;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    let mut buf_start = start; // file offset of buf[0]
    let mut skipping_long = false;
    let mut long_start = start;
    loop {
        // Read straight into the tail of `buf` (no second copy of every byte, and no
        // zero-filling of the space first).
        let held = buf.len();
        let n = match (&mut *file).take(CHUNK as u64).read_to_end(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                buf.truncate(held);
                return Err(e);
            }
        };
        if n == 0 {
            break;
        }
        let mut pos = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[pos..]) {
            let line_end = pos + i;
            if skipping_long {
                skipping_long = false;
            } else {
                let line = &buf[pos..line_end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.len() > max_line {
                    f(buf_start + pos as u64, Err(SkipReason::LineTooLong));
                } else if !line.iter().all(u8::is_ascii_whitespace) {
                    f(buf_start + pos as u64, Ok(line));
                }
            }
            pos = line_end + 1;
        }
        buf.drain(..pos);
        buf_start += pos as u64;
        if buf.len() > max_line && !skipping_long {
            // An over-long line in progress: report it once, drop what we hold, skip to its end.
            f(buf_start, Err(SkipReason::LineTooLong));
            skipping_long = true;
            long_start = buf_start;
        }
        if skipping_long {
            buf_start += buf.len() as u64;
            buf.clear();
        }
    }
    // `buf` holds an incomplete trailing line: not consumed. An unfinished over-long
    // line is not consumed either; it is skipped again once complete.
    Ok(if skipping_long { long_start } else { buf_start })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    type Lines = Vec<(u64, Result<Vec<u8>, SkipReason>)>;

    fn collect(content: &[u8], start: u64, max: usize) -> (Lines, u64) {
        let mut tmp = tempfile::tempfile().unwrap();
        tmp.write_all(content).unwrap();
        let mut out = Vec::new();
        let end = for_each_line(&mut tmp, start, max, |o, l| {
            out.push((o, l.map(<[u8]>::to_vec)))
        })
        .unwrap();
        (out, end)
    }

    #[test]
    fn partial_trailing_line_waits() {
        let (lines, end) = collect(b"a\nbb\r\n\nccc", 0, 100);
        assert_eq!(lines, vec![(0, Ok(b"a".to_vec())), (2, Ok(b"bb".to_vec()))]);
        assert_eq!(end, 7);
        let (lines, end) = collect(b"a\nbb\r\n\nccc\n", end, 100);
        assert_eq!(lines, vec![(7, Ok(b"ccc".to_vec()))]);
        assert_eq!(end, 11);
    }

    #[test]
    fn long_lines_are_skipped_without_buffering() {
        let mut content = vec![b'x'; 3 * CHUNK];
        content.extend_from_slice(b"\nok\n");
        let (lines, end) = collect(&content, 0, 1000);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].1, Err(SkipReason::LineTooLong));
        assert_eq!(lines[1].1, Ok(b"ok".to_vec()));
        assert_eq!(end, content.len() as u64);
        // a long line within one chunk
        let (lines, _) = collect(b"xxxxxxxx\nok\n", 0, 4);
        assert_eq!(lines[0].1, Err(SkipReason::LineTooLong));
        assert_eq!(lines[1], (9, Ok(b"ok".to_vec())));
    }
}
