//! CRLF line framing.

/// Finds the end of the first line in `data`: the index just past its LF.
///
/// Tolerance: a bare LF also ends a line (some servers and proxies strip
/// the CR); [`trim_crlf`] removes either ending.
pub fn find_line(data: &[u8]) -> Option<usize> {
    data.iter().position(|&b| b == b'\n').map(|i| i + 1)
}

/// Removes a trailing `\r\n` or `\n`.
pub fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_lines() {
        assert_eq!(find_line(b"+OK hi\r\nmore"), Some(8));
        assert_eq!(find_line(b"+OK hi\r"), None);
        assert_eq!(find_line(b"bare\nx"), Some(5));
        assert_eq!(trim_crlf(b"+OK\r\n"), b"+OK");
        assert_eq!(trim_crlf(b"+OK\n"), b"+OK");
        assert_eq!(trim_crlf(b"+OK"), b"+OK");
    }
}
