//! The two sides of a coupling and the naming that follows from them.

use std::fmt;

/// Which side of a coupling a value, template or resource belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The consumer side.
    Plug,
    /// The provider side.
    Socket,
}

impl Side {
    /// Both sides, in the order hooks run: plug first.
    pub const BOTH: [Side; 2] = [Side::Plug, Side::Socket];

    /// `plug` or `socket`: the template data key of the object, and the word
    /// used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Plug => "plug",
            Side::Socket => "socket",
        }
    }

    /// The opposite side.
    pub fn other(self) -> Side {
        match self {
            Side::Plug => Side::Socket,
            Side::Socket => Side::Plug,
        }
    }

    /// The Kubernetes kind of the side's object.
    pub fn kind(self) -> &'static str {
        match self {
            Side::Plug => "Plug",
            Side::Socket => "Socket",
        }
    }

    /// Template data key of this side's data (`plugData`).
    pub fn data_key(self) -> &'static str {
        match self {
            Side::Plug => "plugData",
            Side::Socket => "socketData",
        }
    }

    /// Template data key of this side's validated config (`plugConfig`).
    pub fn config_key(self) -> &'static str {
        match self {
            Side::Plug => "plugConfig",
            Side::Socket => "socketConfig",
        }
    }

    /// Template data key of this side's validated result (`plugResult`).
    pub fn result_key(self) -> &'static str {
        match self {
            Side::Plug => "plugResult",
            Side::Socket => "socketResult",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value per side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pair<T> {
    /// The plug's value.
    pub plug: T,
    /// The socket's value.
    pub socket: T,
}

impl<T> Pair<T> {
    /// Builds a pair by computing each side, plug first; the first error wins.
    pub fn try_build<E>(mut f: impl FnMut(Side) -> Result<T, E>) -> Result<Pair<T>, E> {
        Ok(Pair {
            plug: f(Side::Plug)?,
            socket: f(Side::Socket)?,
        })
    }

    /// The value of `side`.
    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Plug => &self.plug,
            Side::Socket => &self.socket,
        }
    }

    /// The value of `side`, mutably.
    pub fn get_mut(&mut self, side: Side) -> &mut T {
        match side {
            Side::Plug => &mut self.plug,
            Side::Socket => &mut self.socket,
        }
    }
}
