"""Scale-out on Ray: the same scoring run sharded over worker actors (one per GPU, or per node).

Imports ray lazily; install it with pip install 'hcd-edge[ray]'.
"""
