//! `resource.Quantity` as validation messages print and compare it
//! (`k8s.io/apimachinery/pkg/api/resource`): the value (in nanounits, rounded up away from zero
//! as `ParseQuantity` does; parsed by `crate::registry::pod::quantity`), its format (from the
//! suffix) and `String()`, the canonical form (`1000m` → `1`, `1536Mi`, `2k`) that kube prints
//! a quantity in.

use std::cmp::Ordering;

use serde_json::Value;

use super::decode::check_quantity;

const NANO: i128 = 1_000_000_000;

/// A quantity's format, from its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

/// A parsed quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

impl Quantity {
    /// `ParseQuantity` of a JSON string (None when it does not parse; decoding refused that).
    pub fn parse(v: &Value) -> Option<Quantity> {
        let s = v.as_str()?;
        check_quantity(s).ok()?;
        let nanos = crate::registry::pod::quantity(v)?;
        let body = s.trim_start_matches(['+', '-']);
        let suffix = body.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        let format = if suffix.ends_with('i') {
            Format::BinarySi
        } else if suffix.starts_with(['e', 'E']) {
            Format::DecimalExponent
        } else {
            Format::DecimalSi
        };
        Some(Quantity { nanos, format })
    }

    /// `resource.NewQuantity(n, DecimalSI)`: a whole number, as an object count.
    pub fn count(n: i64) -> Quantity {
        Quantity {
            nanos: i128::from(n) * NANO,
            format: Format::DecimalSi,
        }
    }

    /// `q.Sub(other)`: the difference, in this quantity's format.
    pub fn sub(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos - other.nanos,
            format: self.format,
        }
    }

    /// `Quantity.Cmp`.
    pub fn cmp(&self, other: &Quantity) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// The exact value in nanounits.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// `q.Add(other)`: the sum, in this quantity's format.
    pub fn add(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos + other.nanos,
            format: self.format,
        }
    }

    /// `MilliValue()` (rounded up away from zero).
    pub fn milli_value(&self) -> i128 {
        round_away(self.nanos, 1_000_000)
    }

    /// `Value()` (rounded up away from zero).
    pub fn value(&self) -> i128 {
        round_away(self.nanos, NANO)
    }

    /// `String()`: kube's canonical form.
    pub fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".into();
        }
        let mut format = self.format;
        if format == Format::BinarySi {
            let small = self.nanos.abs() < 1024 * NANO;
            // Binary suffixes only for whole numbers of at least 1024 (else DecimalSI).
            if small || self.nanos % NANO != 0 {
                format = Format::DecimalSi;
            }
        }
        if format == Format::BinarySi {
            let (mut amount, mut exponent) = (self.nanos / NANO, 0);
            while amount % 1024 == 0 && exponent < 6 {
                amount /= 1024;
                exponent += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exponent];
            return format!("{amount}{suffix}");
        }
        let (mut amount, mut exponent) = (self.nanos, -9i32);
        while amount % 10 == 0 {
            amount /= 10;
            exponent += 1;
        }
        match exponent % 3 {
            1 | -2 => {
                amount *= 10;
                exponent -= 1;
            }
            2 | -1 => {
                amount *= 100;
                exponent -= 2;
            }
            _ => {}
        }
        let suffix = match (format, exponent) {
            (Format::DecimalExponent, 0) => String::new(),
            (Format::DecimalExponent, e) => format!("e{e}"),
            (_, -9) => "n".into(),
            (_, -6) => "u".into(),
            (_, -3) => "m".into(),
            (_, 0) => String::new(),
            (_, 3) => "k".into(),
            (_, 6) => "M".into(),
            (_, 9) => "G".into(),
            (_, 12) => "T".into(),
            (_, 15) => "P".into(),
            (_, 18) => "E".into(),
            (_, e) => format!("e{e}"),
        };
        format!("{amount}{suffix}")
    }
}

fn round_away(nanos: i128, unit: i128) -> i128 {
    let q = nanos / unit;
    if nanos % unit == 0 {
        q
    } else if nanos > 0 {
        q + 1
    } else {
        q - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(s: &str) -> String {
        Quantity::parse(&json!(s))
            .map(|q| q.canonical())
            .unwrap_or_default()
    }

    #[test]
    fn canonical_forms_are_kubes() {
        assert_eq!(canon("1000m"), "1");
        assert_eq!(canon("1500m"), "1500m");
        assert_eq!(canon("1500"), "1500");
        assert_eq!(canon("2000"), "2k");
        assert_eq!(canon("1.5Gi"), "1536Mi");
        assert_eq!(canon("0.5Ki"), "512");
        assert_eq!(canon("1024Mi"), "1Gi");
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("0"), "0");
        assert_eq!(canon("-2"), "-2");
        assert_eq!(canon("0.1"), "100m");
        assert!(Quantity::parse(&json!(5)).is_none());
    }
}
