.PHONY: demo test
demo:
	scripts/run-demo
test:
	scripts/test
