# Sourced by cluster.sh and chaos.sh: loopback ports and process checks. The sourcing script defines die().

port_in_use() { { exec 4<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null && { exec 4<&- 4>&-; return 0; }; return 1; }

# A port nothing listens on and that this script has not handed out yet.
taken_ports=" "
free_port() {
  local p tries=0
  while (( tries++ < 200 )); do
    p=$(( 20000 + RANDOM % 30000 ))
    [[ "$taken_ports" == *" $p "* ]] && continue
    port_in_use "$p" && continue
    taken_ports+="$p "
    echo "$p"
    return 0
  done
  die "no free port found"
}

# pid alive (a zombie waiting for its parent counts as gone)?
alive() {
  local pid=$1 stat
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
  [[ "${stat##*) }" != Z* ]]
}
