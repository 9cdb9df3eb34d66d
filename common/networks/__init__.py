"""Networks: the ε-approximation networks and their size.

init        the initialisation protocol: the body depends on the seed only, the head has its own generator
models      the registry and builder of the classification networks, ``build_network`` (keyed code)
complexity  parameters and multiply-adds of one forward pass, for tables and ``--plan``
"""
