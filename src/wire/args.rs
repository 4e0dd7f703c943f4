//! Checks on caller-supplied strings before they are placed on the wire.

use crate::error::ProtocolError;

/// Why a caller argument was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ArgError {
    /// The argument is empty where the protocol needs a value.
    Empty,
    /// The argument holds CR, LF or NUL, which would end or corrupt the
    /// command line (command injection).
    ControlByte,
    /// The argument holds a space where the protocol separates arguments
    /// by spaces (POP3 USER/APOP name, a SASL mechanism name).
    Space,
}

impl From<ArgError> for ProtocolError {
    fn from(e: ArgError) -> Self {
        ProtocolError::InvalidArgument(match e {
            ArgError::Empty => "argument is empty",
            ArgError::ControlByte => "argument contains CR, LF or NUL",
            ArgError::Space => "argument contains a space",
        })
    }
}

/// Refuses CR, LF and NUL anywhere in `text` (spaces allowed: POP3 `PASS`
/// takes the rest of the line).
pub fn check_text(text: &[u8]) -> Result<(), ArgError> {
    if text.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        Err(ArgError::ControlByte)
    } else {
        Ok(())
    }
}

/// Refuses an empty value, CR, LF, NUL and spaces: a single token argument.
pub fn check_arg(arg: &[u8]) -> Result<(), ArgError> {
    if arg.is_empty() {
        return Err(ArgError::Empty);
    }
    check_text(arg)?;
    if arg.contains(&b' ') {
        return Err(ArgError::Space);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_line_breaks_nul_and_spaces() {
        assert_eq!(check_arg(b"alice"), Ok(()));
        assert_eq!(check_arg(b""), Err(ArgError::Empty));
        assert_eq!(check_arg(b"a\r\nDELE 1"), Err(ArgError::ControlByte));
        assert_eq!(check_arg(b"a\nb"), Err(ArgError::ControlByte));
        assert_eq!(check_arg(b"a\0b"), Err(ArgError::ControlByte));
        assert_eq!(check_arg(b"a b"), Err(ArgError::Space));
        assert_eq!(check_text(b"pass with spaces"), Ok(()));
        assert_eq!(check_text(b"x\rQUIT"), Err(ArgError::ControlByte));
    }
}
