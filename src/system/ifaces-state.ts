// benito's record of the addresses it set on one host (so a re-run replaces its own and leaves others alone): an `addresses` record in the run dir's ledger.
import { defaultRunDir } from "../model/run-dir";
import { Ledger, type LedgerData } from "./ledger";

/** Where the records live by default: /run is emptied at boot, as the addresses are. */
export const defaultStateDir = defaultRunDir;

/** AddressRecord type: one address benito set, on the NIC with this MAC. */
export type AddressRecord = LedgerData<"addresses">["addresses"][number];

/**
 * Reads the addresses benito set on a host (none when there is no record). Keyed by the host's
 * name, which is unique in an experiment: a vnode's record lives in its pnode's run dir.
 */
export function readAddressRecords(stateDir: string, host: string): AddressRecord[] {
  return Ledger.at(stateDir).get("addresses", host)?.data.addresses ?? [];
}

/** Writes the records (the ledger's atomic, durable write); an empty set removes the record. */
export function writeAddressRecords(stateDir: string, host: string, records: readonly AddressRecord[]): void {
  const ledger = Ledger.at(stateDir);
  if (records.length === 0) {
    ledger.remove("addresses", host);
    ledger.removeIfEmpty();
  } else ledger.write("addresses", host, "done", { addresses: [...records] });
}
