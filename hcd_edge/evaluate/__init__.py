"""`hcd-edge evaluate`: score a labelled set through the normal pipeline and measure the engine."""
