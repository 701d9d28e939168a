"""The outside world Credo talks to: mail servers (SMTP) and webhook receivers (HTTP).

Adapters know protocols, not Credo's tables or use cases: they take a message and an address and say what
went wrong in plain words. The delivery pass (:mod:`credo.services.delivery_pass`) decides what to send.
"""
