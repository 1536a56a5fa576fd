"""Credit control: credit policies, the dunning ladder, promised payments and blocks of clients and
subscriptions (docs/credit.md)."""
