// Crash-resume, shard 2 of 4 (the shards run in parallel processes; see test/helpers/crash-resume.ts and docs/ledger.md).
import { crashResumeShard } from "../helpers/crash-resume";

crashResumeShard(2, 4);
