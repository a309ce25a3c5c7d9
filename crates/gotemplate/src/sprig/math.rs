//! sprig's numeric functions: int64 arithmetic (wrapping, as Go's), float
//! functions, and the `*f` functions that go through shopspring/decimal.

use num_bigint::BigInt;

use super::args::{
    arity, arity_min, atoi as go_atoi, float, int, parse_int_radix, string, to_float64, to_int64,
};
use crate::value::Value;

/// Go's panic message for integer division by zero.
const DIVIDE_BY_ZERO: &str = "runtime error: integer divide by zero";

/// `atoi STR`: a decimal integer, 0 when STR is not one.
pub(super) fn atoi(args: &[Value]) -> Result<Value, String> {
    arity("atoi", args, 1)?;
    Ok(Value::Int(go_atoi(string(&args[0])?)))
}

/// `int VALUE` (and `int64 VALUE`): spf13/cast's integer conversion.
pub(super) fn to_int(args: &[Value]) -> Result<Value, String> {
    arity("int", args, 1)?;
    Ok(Value::Int(to_int64(&args[0])))
}

/// `float64 VALUE`: spf13/cast's float conversion.
pub(super) fn to_float(args: &[Value]) -> Result<Value, String> {
    arity("float64", args, 1)?;
    Ok(Value::Float(to_float64(&args[0])))
}

/// `toDecimal VALUE`: the printed value read as an octal number (0 if it
/// is not one), for Unix file modes.
pub(super) fn to_decimal(args: &[Value]) -> Result<Value, String> {
    arity("toDecimal", args, 1)?;
    let text = crate::fmt::sprint(&args[..1]);
    let value = parse_int_radix(&text, 8).unwrap_or(0);
    Ok(Value::Int(value))
}

/// Applies `op` left to right over the arguments converted to int64.
fn fold_ints(
    first: i64,
    rest: &[Value],
    op: impl Fn(i64, i64) -> Result<i64, String>,
) -> Result<Value, String> {
    rest.iter()
        .try_fold(first, |acc, v| op(acc, to_int64(v)))
        .map(Value::Int)
}

/// `add1 N`.
pub(super) fn add1(args: &[Value]) -> Result<Value, String> {
    arity("add1", args, 1)?;
    Ok(Value::Int(to_int64(&args[0]).wrapping_add(1)))
}

/// `add NUMBERS...`: their sum (0 for none).
pub(super) fn add(args: &[Value]) -> Result<Value, String> {
    fold_ints(0, args, |a, b| Ok(a.wrapping_add(b)))
}

/// `sub A B`.
pub(super) fn sub(args: &[Value]) -> Result<Value, String> {
    arity("sub", args, 2)?;
    fold_ints(to_int64(&args[0]), &args[1..], |a, b| Ok(a.wrapping_sub(b)))
}

/// `mul A NUMBERS...`.
pub(super) fn mul(args: &[Value]) -> Result<Value, String> {
    arity_min("mul", args, 1)?;
    fold_ints(to_int64(&args[0]), &args[1..], |a, b| Ok(a.wrapping_mul(b)))
}

/// `div A B`: truncating integer division.
pub(super) fn div(args: &[Value]) -> Result<Value, String> {
    arity("div", args, 2)?;
    fold_ints(to_int64(&args[0]), &args[1..], |a, b| {
        if b == 0 {
            Err(DIVIDE_BY_ZERO.into())
        } else {
            Ok(a.wrapping_div(b))
        }
    })
}

/// `mod A B`: the remainder, with the sign of A.
pub(super) fn modulo(args: &[Value]) -> Result<Value, String> {
    arity("mod", args, 2)?;
    fold_ints(to_int64(&args[0]), &args[1..], |a, b| {
        if b == 0 {
            Err(DIVIDE_BY_ZERO.into())
        } else {
            Ok(a.wrapping_rem(b))
        }
    })
}

/// `max A NUMBERS...` (also `biggest`).
pub(super) fn max(args: &[Value]) -> Result<Value, String> {
    arity_min("max", args, 1)?;
    fold_ints(to_int64(&args[0]), &args[1..], |a, b| Ok(a.max(b)))
}

/// `min A NUMBERS...`.
pub(super) fn min(args: &[Value]) -> Result<Value, String> {
    arity_min("min", args, 1)?;
    fold_ints(to_int64(&args[0]), &args[1..], |a, b| Ok(a.min(b)))
}

/// `randInt MIN MAX`: a random integer in [MIN, MAX).
pub(super) fn rand_int(args: &[Value]) -> Result<Value, String> {
    arity("randInt", args, 2)?;
    let (lo, hi) = (int(&args[0])?, int(&args[1])?);
    // Go's `rand.Intn(max-min) + min`, in int64 with wrapping: a span
    // that overflows to a positive number still draws, then wraps back.
    let span = hi.wrapping_sub(lo);
    if span <= 0 {
        return Err("invalid argument to Intn".into());
    }
    Ok(Value::Int(rand::random_range(0..span).wrapping_add(lo)))
}

/// Go's `math.Max`: NaN wins, then +Inf, and +0 beats -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a.is_sign_negative() { b } else { a }
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN wins, then -Inf, and -0 beats +0.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a.is_sign_negative() { a } else { b }
    } else {
        a.min(b)
    }
}

/// Applies `op` left to right over the arguments converted to float64.
fn fold_floats(args: &[Value], op: fn(f64, f64) -> f64) -> Value {
    let first = to_float64(&args[0]);
    Value::Float(args[1..].iter().map(to_float64).fold(first, op))
}

/// `maxf A NUMBERS...`.
pub(super) fn maxf(args: &[Value]) -> Result<Value, String> {
    arity_min("maxf", args, 1)?;
    Ok(fold_floats(args, go_max))
}

/// `minf A NUMBERS...`.
pub(super) fn minf(args: &[Value]) -> Result<Value, String> {
    arity_min("minf", args, 1)?;
    Ok(fold_floats(args, go_min))
}

/// `ceil N`.
pub(super) fn ceil(args: &[Value]) -> Result<Value, String> {
    arity("ceil", args, 1)?;
    Ok(Value::Float(to_float64(&args[0]).ceil()))
}

/// `floor N`.
pub(super) fn floor(args: &[Value]) -> Result<Value, String> {
    arity("floor", args, 1)?;
    Ok(Value::Float(to_float64(&args[0]).floor()))
}

/// `round N PLACES [ROUND_ON]`: rounds up once the dropped fraction reaches
/// ROUND_ON (0.5 by default), otherwise down (so negatives round down).
pub(super) fn round(args: &[Value]) -> Result<Value, String> {
    arity_min("round", args, 2)?;
    let places = int(&args[1])?;
    let round_on = match args.get(2) {
        Some(v) => float(v)?,
        None => 0.5,
    };
    let pow = pow10(places);
    let digit = pow * to_float64(&args[0]);
    let rounded = if digit.fract() >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(rounded / pow))
}

/// Go's `math.Pow(10, n)`, exact where 10^n is representable.
fn pow10(n: i64) -> f64 {
    match n {
        0..=22 => 10f64.powi(n as i32),
        -22..=-1 => 1.0 / 10f64.powi(-n as i32),
        _ => 10f64.powf(n as f64),
    }
}

/// A shopspring/decimal value: `mant × 10^exp`, exact.
#[derive(Clone, Debug)]
struct Decimal {
    mant: BigInt,
    exp: i64,
}

/// Digits shopspring's `Div` keeps after the decimal point.
const DIVISION_PRECISION: i64 = 16;

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Result<Decimal, String> {
        if !f.is_finite() {
            let shown = if f.is_nan() {
                "NaN"
            } else if f > 0.0 {
                "+Inf"
            } else {
                "-Inf"
            };
            return Err(format!("Cannot create a Decimal from {shown}"));
        }
        let sci = format!("{f:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i64 = exp.parse().map_err(|_| format!("bad float {sci}"))?;
        let fraction_digits = mantissa
            .split_once('.')
            .map_or(0, |(_, frac)| frac.len() as i64);
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        let mant = digits
            .parse::<BigInt>()
            .map_err(|_| format!("bad float {sci}"))?;
        Ok(Decimal {
            mant,
            exp: exp - fraction_digits,
        })
    }

    /// The mantissa rescaled to exponent `exp` (not above `self.exp`).
    fn scaled_to(&self, exp: i64) -> BigInt {
        &self.mant * BigInt::from(10).pow((self.exp - exp) as u32)
    }

    /// Exact sum.
    fn add(&self, other: &Decimal) -> Decimal {
        let exp = self.exp.min(other.exp);
        Decimal {
            mant: self.scaled_to(exp) + other.scaled_to(exp),
            exp,
        }
    }

    /// Exact difference.
    fn sub(&self, other: &Decimal) -> Decimal {
        let exp = self.exp.min(other.exp);
        Decimal {
            mant: self.scaled_to(exp) - other.scaled_to(exp),
            exp,
        }
    }

    /// Exact product.
    fn mul(&self, other: &Decimal) -> Decimal {
        Decimal {
            mant: &self.mant * &other.mant,
            exp: self.exp + other.exp,
        }
    }

    /// shopspring's `Div`: the quotient to 16 decimal places, rounded half
    /// away from zero.
    fn div(&self, other: &Decimal) -> Result<Decimal, String> {
        if other.mant == BigInt::ZERO {
            return Err("decimal division by 0".into());
        }
        let shift = self.exp - other.exp + DIVISION_PRECISION;
        let ten_to = |n: i64| BigInt::from(10).pow(n as u32);
        let (num, den) = if shift < 0 {
            (self.mant.clone(), &other.mant * ten_to(-shift))
        } else {
            (&self.mant * ten_to(shift), other.mant.clone())
        };
        let (mut quot, rem) = (&num / &den, &num % &den);
        if rem.magnitude() * 2u32 >= *den.magnitude() {
            let negative = (self.mant.sign() == num_bigint::Sign::Minus)
                != (other.mant.sign() == num_bigint::Sign::Minus);
            quot += if negative { -1 } else { 1 };
        }
        Ok(Decimal {
            mant: quot,
            exp: -DIVISION_PRECISION,
        })
    }

    /// The nearest float64 (ties to even), as `big.Rat.Float64` gives.
    fn to_f64(&self) -> f64 {
        format!("{}e{}", self.mant, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }
}

/// Runs a decimal operation left to right, as sprig's `execDecimalOp`.
fn decimal_fold(
    first: &Value,
    rest: &[Value],
    op: fn(&Decimal, &Decimal) -> Result<Decimal, String>,
) -> Result<Value, String> {
    let mut acc = Decimal::from_f64(to_float64(first))?;
    for v in rest {
        acc = op(&acc, &Decimal::from_f64(to_float64(v))?)?;
    }
    Ok(Value::Float(acc.to_f64()))
}

/// `add1f N`.
pub(super) fn add1f(args: &[Value]) -> Result<Value, String> {
    arity("add1f", args, 1)?;
    decimal_fold(&args[0], &[Value::Int(1)], |a, b| Ok(a.add(b)))
}

/// `addf NUMBERS...`.
pub(super) fn addf(args: &[Value]) -> Result<Value, String> {
    decimal_fold(&Value::Float(0.0), args, |a, b| Ok(a.add(b)))
}

/// `subf A NUMBERS...`.
pub(super) fn subf(args: &[Value]) -> Result<Value, String> {
    arity_min("subf", args, 1)?;
    decimal_fold(&args[0], &args[1..], |a, b| Ok(a.sub(b)))
}

/// `mulf A NUMBERS...`.
pub(super) fn mulf(args: &[Value]) -> Result<Value, String> {
    arity_min("mulf", args, 1)?;
    decimal_fold(&args[0], &args[1..], |a, b| Ok(a.mul(b)))
}

/// `divf A NUMBERS...`.
pub(super) fn divf(args: &[Value]) -> Result<Value, String> {
    arity_min("divf", args, 1)?;
    decimal_fold(&args[0], &args[1..], Decimal::div)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sprig::args::strval;

    fn show(r: Result<Value, String>) -> String {
        match r {
            Ok(v) => strval(&v),
            Err(e) => format!("ERR {e}"),
        }
    }

    fn f(x: f64) -> Value {
        Value::Float(x)
    }

    fn float_of(r: Result<Value, String>) -> f64 {
        match r {
            Ok(Value::Float(x)) => x,
            other => panic!("not a float: {other:?}"),
        }
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn decimal_functions_match_go() {
        assert_eq!(float_of(addf(&[f(1.1), f(2.2)])), 3.3);
        assert_eq!(
            float_of(divf(&[Value::Int(1), Value::Int(3)])),
            0.3333333333333333
        );
        assert_eq!(
            float_of(divf(&[Value::Int(2), Value::Int(3)])),
            0.6666666666666667
        );
        assert_eq!(
            float_of(divf(&[Value::Int(-2), Value::Int(3)])),
            -0.6666666666666667
        );
        assert_eq!(float_of(divf(&[f(1e-20), Value::Int(3)])), 0.0);
        assert_eq!(float_of(mulf(&[f(1.1), f(1.1)])), 1.21);
        assert_eq!(float_of(subf(&[f(0.3), f(0.1)])), 0.2);
        assert_eq!(float_of(add1f(&[f(0.1)])), 1.1);
        assert_eq!(float_of(addf(&[])), 0.0);
        assert_eq!(float_of(divf(&[f(1e300), f(1e-300)])), f64::INFINITY);
        assert_eq!(
            show(addf(&[Value::from("NaN"), Value::Int(1)])),
            "ERR Cannot create a Decimal from NaN"
        );
        assert_eq!(
            show(divf(&[Value::Int(1), Value::Int(0)])),
            "ERR decimal division by 0"
        );
    }

    #[test]
    fn float_functions_match_go() {
        assert_eq!(float_of(round(&[f(2.345), Value::Int(2)])), 2.35);
        assert_eq!(float_of(round(&[f(-1.5), Value::Int(0)])), -2.0);
        assert_eq!(float_of(round(&[f(1.25), Value::Int(1), f(0.6)])), 1.2);
        assert_eq!(float_of(round(&[f(123.456), Value::Int(-1)])), 120.0);
        assert_eq!(float_of(ceil(&[Value::from("1.2")])), 2.0);
        assert!(float_of(maxf(&[Value::Int(1), Value::from("NaN")])).is_nan());
        assert_eq!(float_of(minf(&[Value::Int(2), f(1.5)])), 1.5);
    }

    #[test]
    fn integer_functions_match_go() {
        assert_eq!(show(to_decimal(&[Value::from("0777")])), "511");
        assert_eq!(show(to_decimal(&[f(777.0)])), "511");
        assert_eq!(show(to_decimal(&[Value::from("-17")])), "-15");
        assert_eq!(show(to_decimal(&[Value::from("8")])), "0");
        assert_eq!(
            show(div(&[Value::Int(1), Value::Int(0)])),
            format!("ERR {DIVIDE_BY_ZERO}")
        );
        assert_eq!(
            show(modulo(&[Value::Int(1), Value::Int(0)])),
            format!("ERR {DIVIDE_BY_ZERO}")
        );
        assert_eq!(
            show(rand_int(&[Value::Int(5), Value::Int(5)])),
            "ERR invalid argument to Intn"
        );
        // MAX below MIN, but MAX-MIN wraps to a positive span (here
        // MaxInt64): Go draws `rand.Intn(MaxInt64) + 1` (a panic before).
        for _ in 0..100 {
            let Ok(Value::Int(n)) = rand_int(&[Value::Int(1), Value::Int(i64::MIN)]) else {
                panic!("randInt 1 MinInt64 draws");
            };
            assert!(n >= 1, "{n}");
        }
        for _ in 0..100 {
            let Ok(Value::Int(n)) = rand_int(&[Value::Int(-3), Value::Int(2)]) else {
                panic!("randInt -3 2 draws");
            };
            assert!((-3..2).contains(&n), "{n}");
        }
        assert_eq!(
            show(add(&[Value::Int(i64::MAX), Value::Int(1)])),
            i64::MIN.to_string()
        );
        assert_eq!(
            show(div(&[Value::Int(i64::MIN), Value::Int(-1)])),
            i64::MIN.to_string()
        );
        assert_eq!(show(max(&[Value::from("3"), f(2.5)])), "3");
        assert_eq!(show(add1(&[f(7.0)])), "8");
        assert_eq!(show(to_int(&[f(1e300)])), i64::MIN.to_string());
        assert_eq!(show(atoi(&[Value::from(" 1")])), "0");
        assert_eq!(show(atoi(&[Value::from("+1")])), "1");
        assert_eq!(show(to_int(&[Value::from("12.0")])), "12");
    }
}
