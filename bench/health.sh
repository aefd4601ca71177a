# Sourced by launch.sh and launch-ab.sh.
health() { # PORT: true when 127.0.0.1:PORT answers GET /observe/health with 200 (bash's /dev/tcp: no process per poll)
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /observe/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  IFS= read -r -t 2 line <&3
  exec 3<&- 3>&-
  [[ "$line" == *" 200"* ]]
}
