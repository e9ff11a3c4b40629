"""The bundled demo: a news site with four outlets served on loopback, and a mailbox."""
