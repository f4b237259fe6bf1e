"""Groups and credentials: issuing, signing, status, bulk actions, the VC API, verification."""
