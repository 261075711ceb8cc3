"""Compare colourisers on one data set, the library side of colorgan-eval: the field's metrics per model beside the
grey baseline (scoring, videos), the weights the learned metrics need (metric_weights), the contact sheet (sheet),
and the tables and files written (report); `run` ties them to a composed config."""
