"""The SPARQL service: protocol, safety checks, engines behind one interface."""
