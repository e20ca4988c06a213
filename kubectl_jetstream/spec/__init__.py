"""streams.d: load, validate and normalize stream definition files. Pure but for reading files.

A file holds one or more YAML documents. A stream has one of three spellings, all normalized to StreamConfig
API JSON:
  native   top-level StreamConfig keys (as `nats stream info --json` shows them) + optional `consumers:`
  natscli  `nats stream info --json` output (config under `config`) or `nats stream add --output`
  NACK     a jetstream.nats.io Stream custom resource (camelCase keys under `spec`)
Every file is checked before anything is returned; all problems are raised together. Other kinds of documents
(NACK Consumer, key-value buckets, object stores) are resources.py's: it passes load_specs its `resolve`.

  load.py      StreamSpec, load_specs (every file, then the rules between files), one stream document
  files.py     which files a path names, reading one safely (size, encoding) into documents
  parse.py     strict JSON and YAML: repeated keys, alias bombs, nesting, several documents
  rules.py     rules between keys and between files: limits, sources, consumers, one stream per subject
  values.py    each value normalized by its schema type: durations, sizes, enums, subjects, objects
  nack.py      NACK resources (Stream, Consumer, and the spec of the others) -> API keys
  names.py     stream, consumer and JetStream domain names as the server checks them (subjects: subjects.py)
  problems.py  Problems: what one file got wrong, keys as the file spells them, at most 100 shown
  export.py    document_for: a server stream -> its canonical streams.d document

Each module imports only modules listed after it. This file imports none of them, so a light one (names, for
one check) does not bring in the YAML parser.
"""
