//! A budget for the functions that are slow by design: bcrypt, scrypt
//! (`derivePassword`) and key generation. The output cap and the range-step
//! cap bound everything else, but one `range` over a few hundred items
//! calling `genPrivateKey "rsa"` would hold a reconcile for minutes. Each
//! execution gets [`BUDGET`] units (about a millisecond of work each, in an
//! optimized build) and every slow call charges its typical cost up front.

use std::cell::Cell;

/// Units one execution may spend: about ten seconds of work, enough for a
/// few 4096-bit keys or dozens of certificates.
pub const BUDGET: u64 = 10_000;
/// Ed25519 and ECDSA keys, and signing.
pub const CHEAP: u64 = 1;
/// One bcrypt hash at cost 10.
pub const BCRYPT: u64 = 60;
/// One scrypt derivation with N=32768, r=8 (`derivePassword`).
pub const SCRYPT: u64 = 100;
/// A DSA key with fresh 2048-bit parameters: a prime search that varies
/// from one to ten seconds.
pub const DSA_KEYGEN: u64 = 4_000;

thread_local! {
    /// The units left to the execution running on this thread; `None`
    /// outside an execution (a function called directly), which is free.
    static REMAINING: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The typical cost of an RSA key of the sizes sprig uses: the prime
/// search grows with about the cube of the size (2048 bits ~150 ms, 4096
/// bits ~2 s).
pub fn rsa_keygen(bits: usize) -> u64 {
    if bits <= 2048 { 150 } else { 2_000 }
}

/// The budget of one execution; the previous one comes back when it ends,
/// so nested executions cannot reset each other's.
pub(crate) struct Scope {
    previous: Option<u64>,
}

impl Scope {
    /// Starts a full budget for the execution on this thread.
    pub(crate) fn start() -> Scope {
        Scope {
            previous: REMAINING.with(|r| r.replace(Some(BUDGET))),
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        REMAINING.with(|r| r.set(self.previous));
    }
}

/// Takes `units` from the running execution's budget, or fails naming
/// `function` once it is spent.
pub fn charge(function: &str, units: u64) -> Result<(), String> {
    REMAINING.with(|r| match r.get() {
        None => Ok(()),
        Some(left) if left >= units => {
            r.set(Some(left - units));
            Ok(())
        }
        Some(_) => Err(format!(
            "{function}: this template has used up its budget for slow functions \
             (bcrypt, htpasswd, derivePassword, key and certificate generation: \
             about {} s of work per render)",
            BUDGET / 1000
        )),
    })
}
