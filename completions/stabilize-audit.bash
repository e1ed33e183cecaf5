_stabilize_audit_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _STABILIZE_AUDIT_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _stabilize_audit_completion stabilize-audit
