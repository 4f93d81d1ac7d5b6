"""Unit tests of the pure contact-centre domain."""
