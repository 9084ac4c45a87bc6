"""Test tools a user may import, like moto or ``mteb.mocks``: loopback emulators of the
vendors' protocols (:mod:`~embedsim.testing.gemini`). Their vectors are never a vendor's:
answers carrying an emulator's marker are refused under a vendor's model id.
"""
