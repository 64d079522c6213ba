.PHONY: run test
run:
	./dev run
test:
	./dev test
