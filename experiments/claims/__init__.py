"""The paper's claims (LMC, merge vs best single, buffer policies, encoder-only merge, subsets)
measured over seeds on the miniature synthetic domains: :mod:`.study` runs, :mod:`.summary` reads."""
