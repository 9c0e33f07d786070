"""Business rules, as verbs. Services flush; the request, job or command around them commits."""
