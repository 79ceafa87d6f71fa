//! Registrars: the `Registrar` trait (a registrar's side of a domain, separate from the DNS
//! `Provider`), domain state and changes. Filled in by the registrar work of issue 9.
