//! National Provider Identifier: 10 digits whose last is a Luhn check digit computed over
//! the prefix "80840" followed by the first nine digits (CMS, "NPI check digit").

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Npi(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpiError {
    WrongLength,
    NotDigits,
    CheckDigit,
}

impl NpiError {
    pub fn code(self) -> &'static str {
        match self {
            NpiError::WrongLength => "npi_length",
            NpiError::NotDigits => "npi_digits",
            NpiError::CheckDigit => "npi_check_digit",
        }
    }
    pub fn detail(self) -> &'static str {
        match self {
            NpiError::WrongLength => "an NPI has exactly 10 digits",
            NpiError::NotDigits => "an NPI has digits only",
            NpiError::CheckDigit => {
                "the NPI check digit is wrong (Luhn over 80840 and the first 9 digits)"
            }
        }
    }
}

impl Npi {
    pub fn parse(raw: &str) -> Result<Npi, NpiError> {
        if !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NpiError::NotDigits);
        }
        if raw.len() != 10 {
            return Err(NpiError::WrongLength);
        }
        let digits: Vec<u32> = raw.bytes().map(|b| u32::from(b - b'0')).collect();
        if check_digit(&digits[..9]) != digits[9] {
            return Err(NpiError::CheckDigit);
        }
        Ok(Npi(raw.to_owned()))
    }

    /// The NPI whose first nine digits are `base` (0..1e9), with its check digit appended.
    pub fn from_base(base: u32) -> Npi {
        let text = format!("{:09}", base % 1_000_000_000);
        let digits: Vec<u32> = text.bytes().map(|b| u32::from(b - b'0')).collect();
        Npi(format!("{text}{}", check_digit(&digits)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Luhn check digit for "80840" + `first_nine`.
fn check_digit(first_nine: &[u32]) -> u32 {
    // Luhn doubles every second digit counting from the right of the payload (the check digit
    // excluded); the constant 24 is the contribution of the "80840" prefix under that scheme.
    let mut sum = 24;
    for (index, digit) in first_nine.iter().rev().enumerate() {
        sum += if index % 2 == 0 {
            let doubled = digit * 2;
            if doubled > 9 {
                doubled - 9
            } else {
                doubled
            }
        } else {
            *digit
        };
    }
    (10 - sum % 10) % 10
}

impl fmt::Display for Npi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_cms_example() {
        assert_eq!(
            Npi::parse("1234567893").map(|n| n.to_string()),
            Ok("1234567893".to_owned())
        );
    }

    #[test]
    fn rejects_a_wrong_check_digit_length_and_letters() {
        assert_eq!(Npi::parse("1234567890"), Err(NpiError::CheckDigit));
        assert_eq!(Npi::parse("123456789"), Err(NpiError::WrongLength));
        assert_eq!(Npi::parse("12345678931"), Err(NpiError::WrongLength));
        assert_eq!(Npi::parse("12345678a3"), Err(NpiError::NotDigits));
        assert_eq!(Npi::parse(""), Err(NpiError::WrongLength));
    }

    #[test]
    fn generated_npis_are_valid_and_every_other_last_digit_is_not() {
        for base in [0u32, 123_456_789, 999_999_999, 104_567_003] {
            let npi = Npi::from_base(base);
            assert!(Npi::parse(npi.as_str()).is_ok(), "{npi}");
            let head = &npi.as_str()[..9];
            let wrong = (0..10)
                .filter(|d| Npi::parse(&format!("{head}{d}")).is_ok())
                .count();
            assert_eq!(wrong, 1, "exactly one check digit fits {head}");
        }
    }
}
