"""Test tools a user may import, like moto or ``mteb.mocks``: loopback emulators of the
vendors' protocols (:mod:`~embedsim.testing.gemini`, :mod:`~embedsim.testing.vertex`,
:mod:`~embedsim.testing.bedrock`, :mod:`~embedsim.testing.voyage`, :mod:`~embedsim.testing.cohere`,
:mod:`~embedsim.testing.jina`, :mod:`~embedsim.testing.openai`) on one server base
(:mod:`~embedsim.testing.emulator`). Their vectors are never a vendor's: answers carrying an
emulator's marker are refused under a vendor's model id.
"""
