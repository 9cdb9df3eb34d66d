"""Networks: the ε-approximation networks and their size.

models      the registry and builder of the classification networks, ``build_network`` (keyed code)
complexity  parameters and multiply-adds of one forward pass, for tables and ``--plan``
"""
