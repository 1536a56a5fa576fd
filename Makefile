.PHONY: demo test mutation
demo:
	scripts/run-demo
test:
	scripts/test
# Mutation testing of the money code (slow: not part of `make test`; docs/testing.md). TARGETS=money…
MUTATION_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kopeck_mutation
mutation:
	scripts/mutation --database $(MUTATION_DATABASE_URL) $(TARGETS)
