// Where benito keeps what it records when no --run-dir or --log-file is given: one default for every command.

/** The run folder: status file, pidfiles, sockets, records. /run is emptied at boot, as the state it describes. */
export const defaultRunDir = "/run/benito";

/** The log file boot and down append to. */
export const defaultLogFile = "/var/log/benito/benito.log";
