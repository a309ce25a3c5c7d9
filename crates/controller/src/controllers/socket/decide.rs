//! The Socket controller's decisions: its `coupledPlugs` and status, pure
//! functions of the socket and the plugs coupled to it.

use integration_api::condition::{message, plugs_coupled, reason};
use integration_api::{CoupledRef, Linked, Socket, SocketStatus};
use kube::Resource;

use super::links::plug_ref;
use crate::status::{self, Desired};

/// The plugs coupled to the socket with `socket_uid`, as `coupledPlugs`
/// lists them: sorted by namespace, then name.
pub fn coupled_plugs<'p, P: Linked + Resource + 'p>(
    plugs: impl IntoIterator<Item = &'p P>,
    socket_uid: &str,
) -> Vec<CoupledRef> {
    let mut refs: Vec<CoupledRef> = plugs
        .into_iter()
        .filter(|p| p.coupled_socket().is_some_and(|c| c.uid == socket_uid))
        .map(|p| {
            let meta = p.meta();
            let (ns, name) = (meta.namespace.as_deref(), meta.name.as_deref());
            let uid = p.plug_uid().unwrap_or_default();
            plug_ref(ns.unwrap_or_default(), name.unwrap_or_default(), uid)
        })
        .collect();
    refs.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    refs
}

/// The socket status for `coupled`: `SocketCoupled` with the count, or
/// `SocketEmpty`. Failed goes away with any successful pass.
pub fn desired_status(socket: &Socket, coupled: Vec<CoupledRef>) -> SocketStatus {
    let mut status = socket.status.clone().unwrap_or_default();
    let n = coupled.len();
    let condition = if n == 0 {
        Desired::coupled(false, reason::SOCKET_EMPTY, message::SOCKET_EMPTY)
    } else {
        Desired::coupled(true, reason::SOCKET_COUPLED, plugs_coupled(n))
    };
    status::set_main(&mut status.conditions, condition, socket.meta().generation);
    status.coupled_plugs = (!coupled.is_empty()).then_some(coupled);
    status
}
