//! Reading a [`Status`] from its wire name, and [`ParseStatusError`].

use core::fmt;
use core::str::FromStr;

use crate::Status;

impl Status {
    /// The status whose wire name is exactly `name`, or `None`.
    ///
    /// The `const` twin of [`str::parse`]; use `parse` to get an error that says what
    /// was wrong.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// const BACK: Option<Status> = Status::from_name("BACK"); // usable in `const`
    /// assert_eq!(BACK, Some(Status::Back));
    /// assert_eq!(Status::from_name("back"), None); // names are exact
    /// assert_eq!(Status::from_name("BACKS"), None);
    /// ```
    #[must_use]
    pub const fn from_name(name: &str) -> Option<Status> {
        // The names live in `as_str` alone; `==` on `str` is not `const`, so compare bytes.
        let mut i = 0;
        while i < Status::ALL.len() {
            if bytes_eq(Status::ALL[i].as_str().as_bytes(), name.as_bytes()) {
                return Some(Status::ALL[i]);
            }
            i += 1;
        }
        None
    }

    /// [`from_name`](Status::from_name) at run time: `==` on `str` compiles to a jump on the
    /// length and one or two word compares, where the `const` loop compares byte by byte
    /// (docs/PERFORMANCE.md has the figures). `FromStr` and the wire payloads use it.
    #[inline]
    pub(crate) fn find_name(name: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// Byte-slice equality in a `const fn`.
const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl FromStr for Status {
    type Err = ParseStatusError;

    /// Parses a wire name, exactly: no trimming, no case folding.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert_eq!("CANCELLED".parse::<Status>(), Ok(Status::Cancelled));
    ///
    /// let error = "in_progress".parse::<Status>().unwrap_err();
    /// assert_eq!(error.case_of(), Some(Status::InProgress));
    /// assert!(error.to_string().contains("did you mean \"IN_PROGRESS\""));
    /// ```
    #[inline]
    fn from_str(name: &str) -> Result<Status, ParseStatusError> {
        Status::find_name(name).ok_or_else(|| ParseStatusError::new(name))
    }
}

/// How many bytes of a rejected input a [`Quote`] keeps.
const QUOTED: usize = 32;

/// A bounded, owned copy of a rejected input, for an error message: its first 32 bytes (cut
/// at a character boundary) and its whole length. It needs no allocation, so errors that
/// hold one are `Copy` and cost the same whatever the input's size.
///
/// `extra` is the error's own small field, kept in the quote's padding so that the error
/// stays 48 bytes: a `Result` that large is returned through memory, and each byte more is
/// copied by every caller that keeps the whole `Result`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Quote<X = ()> {
    bytes: [u8; QUOTED],
    len: u8,
    pub(crate) extra: X,
    input_len: usize,
}

impl<X> Quote<X> {
    /// The quote of `input`, with the error's `extra` field.
    #[inline]
    pub(crate) fn with(input: &str, extra: X) -> Quote<X> {
        let mut len = input.len().min(QUOTED);
        while !input.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0; QUOTED];
        bytes[..len].copy_from_slice(&input.as_bytes()[..len]);
        Quote {
            bytes,
            // At most 32: it fits.
            len: len as u8,
            extra,
            input_len: input.len(),
        }
    }

    /// The quoted text: the whole input, or its first bytes when it was longer.
    pub(crate) fn as_str(&self) -> &str {
        // The bytes were copied from a `&str` and cut at a character boundary.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The length in bytes of the whole input.
    pub(crate) const fn input_len(&self) -> usize {
        self.input_len
    }

    /// Says the whole input was `input_len` bytes long: for a quote made from the head of a
    /// longer text, which was not kept.
    #[cfg(feature = "wire")]
    pub(crate) fn set_input_len(&mut self, input_len: usize) {
        self.input_len = input_len;
    }
}

impl Quote {
    /// The quote of `input`.
    #[inline]
    pub(crate) fn new(input: &str) -> Quote {
        Quote::with(input, ())
    }
}

impl<X> fmt::Display for Quote<X> {
    /// The text, escaped and in quotes, then `(cut; N bytes in all)` when it was cut.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())?;
        if self.input_len > usize::from(self.len) {
            write!(f, " (cut; {} bytes in all)", self.input_len)?;
        }
        Ok(())
    }
}

/// A string that is not the wire name of a [`Status`].
///
/// The message quotes the input (its first 32 bytes, escaped), lists the accepted names,
/// and, when the input differs from a name only by letter case, says which name was
/// probably meant. The error owns a copy of what it quotes, so it is `'static` and needs
/// no allocation.
///
/// ```
/// use hpp_status::Status;
///
/// let error = "TIMEOUT".parse::<Status>().unwrap_err();
/// assert_eq!(error.input(), "TIMEOUT");
/// assert_eq!(
///     error.to_string(),
///     "unknown HPP status \"TIMEOUT\"; expected one of WAITING, IN_PROGRESS, \
///      COMPLETED, FAILED, CANCELLED, BACK, ERROR, DISABLED"
/// );
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{}", Message(self))]
pub struct ParseStatusError {
    /// The input, and the status it matches but for letter case.
    quote: Quote<Option<Status>>,
}

impl ParseStatusError {
    // Out of line, so that the callers' path for a good name stays short.
    #[cold]
    #[inline(never)]
    fn new(input: &str) -> ParseStatusError {
        let case_of = Status::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(input));
        ParseStatusError {
            quote: Quote::with(input, case_of),
        }
    }

    /// The rejected input, or its first 32 bytes (cut at a character boundary) when it was
    /// longer; see [`input_len`](ParseStatusError::input_len).
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// let long = "X".repeat(100);
    /// let error = long.parse::<Status>().unwrap_err();
    /// assert_eq!(error.input(), &long[..32]);
    /// assert_eq!(error.input_len(), 100);
    /// ```
    #[must_use]
    pub fn input(&self) -> &str {
        self.quote.as_str()
    }

    /// The length in bytes of the whole rejected input.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert_eq!("".parse::<Status>().unwrap_err().input_len(), 0);
    /// ```
    #[must_use]
    pub const fn input_len(&self) -> usize {
        self.quote.input_len()
    }

    /// The status whose name the input matches but for letter case, such as
    /// [`Status::InProgress`] for `"in_progress"`.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert_eq!("Back".parse::<Status>().unwrap_err().case_of(), Some(Status::Back));
    /// assert_eq!("BAK".parse::<Status>().unwrap_err().case_of(), None);
    /// ```
    #[must_use]
    pub const fn case_of(&self) -> Option<Status> {
        self.quote.extra
    }
}

impl fmt::Debug for ParseStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParseStatusError")
            .field("input", &self.input())
            .field("input_len", &self.input_len())
            .field("case_of", &self.case_of())
            .finish()
    }
}

struct Message<'a>(&'a ParseStatusError);

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = self.0;
        write!(f, "unknown HPP status {}", error.quote)?;
        if let Some(status) = error.case_of() {
            write!(
                f,
                ": status names are upper case, did you mean {:?}?",
                status.as_str()
            )?;
        }
        f.write_str("; expected one of ")?;
        for (i, status) in Status::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(status.as_str())?;
        }
        Ok(())
    }
}
