//! A plug and its socket, seen together: the entry point for everything
//! that needs both sides (resolution, rendering, hashing).

use integration_api::{Interface, Plug, Socket};
use serde_json::Value;

use crate::error::Result;
use crate::owner::Owner;
use crate::side::{Pair, Side};
use crate::template::Data;

/// A plug and the socket it couples to. Build one per reconcile pass; it
/// holds both objects' JSON so templates need not re-serialize them.
#[derive(Clone, Debug)]
pub struct Coupling<'a> {
    owners: Pair<Owner<'a>>,
    interface: Option<&'a Interface>,
}

impl<'a> Coupling<'a> {
    /// Pairs a plug with its socket.
    pub fn new(plug: &'a Plug, socket: &'a Socket) -> Result<Self> {
        Ok(Coupling {
            owners: Pair {
                plug: Owner::plug(plug)?,
                socket: Owner::socket(socket)?,
            },
            interface: socket.spec.interface.as_ref(),
        })
    }

    /// One side's object.
    pub fn owner(&self, side: Side) -> &Owner<'a> {
        self.owners.get(side)
    }

    /// The socket's interface, which validates both sides.
    pub fn interface(&self) -> Option<&'a Interface> {
        self.interface
    }

    /// Template data with both objects, `{plug, socket}`: what var
    /// `templateName`/`templateNamespace` see, and the base of every other
    /// stage of a coupling.
    pub(crate) fn objects(&self) -> Data {
        Data::default()
            .with(Side::Plug.as_str(), self.owners.plug.json().clone())
            .with(Side::Socket.as_str(), self.owners.socket.json().clone())
    }

    /// `{plug, socket}` as JSON.
    pub(crate) fn objects_value(&self) -> Value {
        self.objects().into_value()
    }
}
